"""The app's dialogs: opening data, training, input preprocessing, trust, messages."""
