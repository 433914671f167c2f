"""Stand-ins for the outside systems (SMT, ESG, DERMS) speaking their HTTP contracts.

The simulators import nothing of the product, and the product imports nothing of them:
they meet only over HTTP on loopback.
"""
