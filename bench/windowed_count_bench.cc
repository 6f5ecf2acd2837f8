// Placeholder: the benchmark arrives with its driver script.
int main() { return 0; }
