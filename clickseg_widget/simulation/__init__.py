"""The simulated user: click simulation, benchmark datasets and per-click metrics, below models and evaluation."""
