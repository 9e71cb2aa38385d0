"""Print the conversion targets of issue 8: ``python -m spikeattn.models.targets``.

* digits-vit, accumulate mode: accuracy drop <= 1 point against the dense model at some
  T <= 4, with ``synaptic_macs == 0`` at every T;
* exact mode: identical predictions to the quantised ANN (torch, float64) on the whole
  test split of every in-repo model (checked at T = 1; the fraction at larger T is printed
  too, and is 1: exact mode re-initialises its membranes every step, docs/convert.md);
* the whole digits test split at T = 8 in under 10 s (batched; timed on the numpy and the
  compiled engine, which give identical predictions; the target takes the faster).

Also printed (no target in the issue): digits-vit quantised for Loihi (``quantise="loihi8"``),
its accuracy per T and the fraction of predictions equal to the float spiking model's.

Models and fine-tuned graphs come from the cache (trained on a cold one, which says so).
"""
from __future__ import annotations

import time


def main() -> int:
    import torch

    from ..convert.api import convert
    from .data import load_data
    from .zoo import SPECS, load_model
    ok = True
    rows = []
    for name, modes in (("digits-vit", ("accumulate", "exact", "loihi8")), ("recall-transformer", ("exact", "accumulate")),
                        ("mnist1d-attention", ("exact",))):
        data = load_data(SPECS[name]["data"])
        model = load_model(name, data)
        if name == "digits-vit":
            data_d = data
        with torch.no_grad():
            xt = torch.as_tensor(data["x_test"])
            dense = float((model(xt).argmax(-1).numpy() == data["y_test"]).mean())
        for mode in modes:
            sm = convert(model, torch.as_tensor(data["x_train"][:2]), mode="accumulate" if mode == "loihi8" else mode,
                         calib=data["x_calib"], train=(data["x_train"], data["y_train"]),
                         epochs=15 if name == "digits-vit" else 10, levels=4, cache_key=name,
                         name=name.replace("-", "_"), quantise="loihi8" if mode == "loihi8" else None)
            # loihi8: "ident" is the agreement with the float spiking model (accumulate mode)
            fm = sm.meta.get("float_model")
            q = sm.quantised_predict(data["x_test"])
            for T in ((1, 2) if name == "mnist1d-attention" else (1, 2, 4, 8)):   # 295k neurons: T <= 2
                t0 = time.perf_counter()
                p = sm.predict(data["x_test"], steps=T)
                wall = time.perf_counter() - t0
                macs = sm.last_counts["totals"]["synaptic_macs"]
                ref = fm.predict(data["x_test"], steps=T) if fm is not None else q
                rows.append((name, mode, T, dense, float((p == data["y_test"]).mean()), float((p == ref).mean()),
                             macs, wall))
    print(f"{'model':20s} {'mode':10s} {'T':>2s} {'dense':>6s} {'spiking':>7s} {'ident':>6s} {'MACs':>9s} "
          f"{'wall s':>6s}")
    for r in rows:
        print(f"{r[0]:20s} {r[1]:10s} {r[2]:2d} {r[3]:6.4f} {r[4]:7.4f} {r[5]:6.4f} {r[6]:9d} {r[7]:6.2f}")
    acc = [r for r in rows if r[0] == "digits-vit" and r[1] == "accumulate"]
    t1 = min(r[3] - r[4] for r in acc if r[2] <= 4) <= 0.01 and all(r[6] == 0 for r in acc)
    t2 = all(r[5] == 1.0 for r in rows if r[1] == "exact" and r[2] == 1)
    sm8 = convert(load_model("digits-vit", None), torch.as_tensor(data_d["x_train"][:2]), mode="accumulate",
                  calib=data_d["x_calib"], train=(data_d["x_train"], data_d["y_train"]), epochs=15, levels=4,
                  cache_key="digits-vit", name="digits_vit")
    p_np = sm8.predict(data_d["x_test"], steps=8)
    t0 = time.perf_counter()
    p_c = sm8.predict(data_d["x_test"], steps=8, engine="compiled")
    wall_c = time.perf_counter() - t0
    wall_np = [r[7] for r in acc if r[2] == 8][0]
    print(f"digits-vit accumulate, whole test split at T = 8: numpy {wall_np:.2f} s, compiled {wall_c:.2f} s "
          f"(identical predictions: {bool((p_np == p_c).all())})")
    t3 = min(wall_np, wall_c) < 10 and bool((p_np == p_c).all())
    for label, passed in (("digits-vit accumulate: drop <= 1 pt at T <= 4, 0 MACs", t1),
                          ("exact: identical to the quantised ANN at T = 1 (every in-repo model)", t2),
                          ("digits test split at T = 8 < 10 s", t3)):
        print(f"[{'PASS' if passed else 'FAIL'}] {label}")
        ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
