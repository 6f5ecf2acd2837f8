// Placeholder: the application arrives with its test.
int main() { return 0; }
