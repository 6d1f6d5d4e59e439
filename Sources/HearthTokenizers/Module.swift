// HearthTokenizers module
