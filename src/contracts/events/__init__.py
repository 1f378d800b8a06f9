"""Generated event classes, one module per Avro namespace.

Import them as ``from contracts.events.<namespace> import <Name>``; regenerate with ``contracts codegen``.
"""
