"""The wire contract between every client and every server of the model: request/response schema v1."""
