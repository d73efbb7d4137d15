"""The few-click tool for a Ground Truth workforce.

The worker page (js/worker, bundled into one script by ``bundle.py``) runs in
a custom labeling task whose Liquid template ``template.py`` writes; it calls
the model through the API Gateway + Lambda proxy in ``lambdas/proxy.py``.
``lambdas/pre_annotation.py`` and ``lambdas/consolidation.py`` are the custom
task's Lambdas, ``infrastructure/template.yaml`` deploys all three, and
``custom_task_request.py`` builds the CreateLabelingJob request that uses them.
"""
