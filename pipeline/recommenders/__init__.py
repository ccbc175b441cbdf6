"""Treatment recommenders: the interface and adapters (Python, command, HTTP), the cited therapy table they are
scored against, the metrics and findings, and the reference recommenders (guideline, insurance-biased, random)."""
