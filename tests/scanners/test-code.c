/* placeholder: replaced by the parcel-code tests */
int main(void) { return 0; }
