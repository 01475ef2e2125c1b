"""The shared library of the lakebox pipeline, published as a Lambda layer.

Pure logic (formats, parsing, rules, scoring, routing, status) takes and returns plain values and is unit-tested
without a network; every AWS call lives in :mod:`lakebox_layer.adapters`.
"""
