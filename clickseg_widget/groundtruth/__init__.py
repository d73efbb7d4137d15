"""Ground Truth from a notebook: build and launch labeling jobs, read their
outputs, plot costs and quality per iteration, and simulate automated labeling
locally before paying for a real job.

Modules import boto3/matplotlib only where they need them, so reading a local
job folder never requires AWS credentials.
"""
