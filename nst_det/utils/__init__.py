from .errors import InvalidInputError, NSTDetError

__all__ = ["NSTDetError", "InvalidInputError"]
