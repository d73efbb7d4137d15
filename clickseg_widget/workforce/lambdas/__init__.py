"""AWS Lambda handlers of the workforce tool (deployed by infrastructure/template.yaml)."""
