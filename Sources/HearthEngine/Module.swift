// HearthEngine module
