"""The order lifecycle of DESIGN §1: statuses, who may move them, errors. Pure: no I/O."""
