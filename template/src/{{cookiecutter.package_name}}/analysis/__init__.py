"""Reading the result: what the numbers say and what to do next."""
