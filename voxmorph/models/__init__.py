"""Neural network modules. Each module takes its configuration as constructor arguments."""
