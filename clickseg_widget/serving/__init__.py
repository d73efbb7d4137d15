"""Serving: the SageMaker inference contract, a local endpoint server, packaging and deployment."""
