"""The shared library of the lakebox pipeline, published as a Lambda layer.

The stages are declared once in :mod:`lakebox_layer.registry` and run by :mod:`lakebox_layer.stages`. Pure logic
(formats, parsing, rules, scoring, routing, stream batches) takes and returns plain values and is unit-tested without
a network; every AWS call lives in :mod:`lakebox_layer.adapters`, behind the protocols of :mod:`lakebox_layer.ports`.
"""
