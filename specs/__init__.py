"""JSON Schemas: the contracts between the compiler, the runtime and editors."""
