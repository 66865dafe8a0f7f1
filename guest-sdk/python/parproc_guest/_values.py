"""Python values <-> the WIT `value` variant, and parameter types from annotations."""

import inspect

TEXT = "text"
INTEGER = "integer"
FLOAT = "float"
BOOLEAN = "boolean"

_S64 = (-(2**63), 2**63 - 1)

_BY_NAME = {"str": TEXT, "int": INTEGER, "float": FLOAT, "bool": BOOLEAN}


def type_of_annotation(annotation):
    """The value type an annotation declares (`int`, `float`, `bool`, `str`, or their names
    as strings under postponed evaluation), or None."""
    if annotation is inspect.Parameter.empty or annotation is None:
        return None
    if isinstance(annotation, str):
        return _BY_NAME.get(annotation.strip())
    if annotation is bool:
        return BOOLEAN
    if annotation is int:
        return INTEGER
    if annotation is float:
        return FLOAT
    if annotation is str:
        return TEXT
    return None


def type_of_value(value):
    """The value type of a Python value, or None when it is not a scalar."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER if _S64[0] <= value <= _S64[1] else None
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return TEXT
    return None


def is_scalar(value):
    """True if the value crosses to the host as a WIT `value`."""
    return type_of_value(value) is not None


try:  # The bindings exist inside a component only (imported while it is built).
    from wit_world.imports import parproc_jobs_types as _wit_types
except ImportError:  # imported by the build command on the build machine
    _wit_types = None


def _types():
    return _wit_types


def to_wit(value):
    """A Python value as a WIT `value`; anything that is not a scalar is sent as its text."""
    t = _types()
    kind = type_of_value(value)
    if kind == BOOLEAN:
        return t.Value_Boolean(value)
    if kind == INTEGER:
        return t.Value_Integer(value)
    if kind == FLOAT:
        return t.Value_Float(value)
    if kind == TEXT:
        return t.Value_Text(value)
    return t.Value_Text(str(value))


def from_wit(value):
    """A WIT `value` as a Python value."""
    return value.value


def wit_type(kind):
    """A value type name as the WIT `value-type` enum."""
    t = _types()
    return {
        TEXT: t.ValueType.TEXT,
        INTEGER: t.ValueType.INTEGER,
        FLOAT: t.ValueType.FLOAT,
        BOOLEAN: t.ValueType.BOOLEAN,
    }[kind]


def convert_annotated(value, annotation):
    """parproc's cast for an annotation that is not one of the four scalar types: try
    `Type(value)`, keep the value when that fails (as parproc casts proto args)."""
    if annotation is inspect.Parameter.empty or type_of_annotation(annotation) is not None:
        return value
    if not isinstance(annotation, type):
        return value
    if isinstance(value, annotation):
        return value
    try:
        return annotation(value)
    except Exception:  # noqa: BLE001 - parproc keeps the value on any failure
        return value
