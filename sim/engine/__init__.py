"""The batched engine: Vensim models compiled to numpy, N scenarios per call."""

from sim.engine.model import Model, load_model, parse_model

__all__ = ["Model", "load_model", "parse_model"]
