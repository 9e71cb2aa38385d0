"""Spiking attention, selection and routing circuits: builders returning Circuit fragments."""
