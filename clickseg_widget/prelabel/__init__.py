"""Pre-labeling: the model drafts every object's mask from a box or four extreme points, people correct.

``records`` reads the input lines and builds the output records; ``local`` runs them on
this machine's cores; ``batch`` runs the same records on SageMaker Batch Transform.
"""
