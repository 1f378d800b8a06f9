"""The codec of generated classes: the class table, compiled per-class conversions, the raw form, the bytes path.

``codec_for(cls)`` is the public seam: ``to_avro``/``from_avro`` and the serializers
use the same compiled encoders, builders and read plans.
"""

from contracts.codec.classes import CLASSES, avro_class, class_for, known_classes
from contracts.codec.compiled import Codec, ReadPlan, codec_for

__all__ = ["CLASSES", "Codec", "ReadPlan", "avro_class", "class_for", "codec_for", "known_classes"]
