/* hello: greets whoever runs it, with the greeting chosen at build time. */
#include <stdio.h>

#ifndef GREETING
#define GREETING "hello"
#endif

int main(int argc, char **argv)
{
	const char *who = argc > 1 ? argv[1] : "world";
	printf("%s, %s\n", GREETING, who);
	return 0;
}
