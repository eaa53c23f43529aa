"""SpendSense: explainable behavioural signals, personas and guarded recommendations."""

__version__ = "0.1.0"
