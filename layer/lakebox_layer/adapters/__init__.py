"""Thin adapters: the only place the layer calls AWS. Each takes a ready client and maps error codes to
:mod:`lakebox_layer.exceptions`."""
