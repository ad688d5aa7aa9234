"""Training: the one loop every model kind runs through, its runs, devices and fine-tuning."""
