// HearthModels module
