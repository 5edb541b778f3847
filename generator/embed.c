/* embed.c - build tool: writes the given files as C strings (build/templates.c). */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("/* made by embed from templates/: do not edit */\n");
    printf("const char *const tpl_files[] = {\n");
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        printf("    \"");
        int ch;
        while ((ch = fgetc(f)) != EOF) {
            if (ch == '\n') {
                printf("\\n\"\n    \"");
                continue;
            }
            if (ch == '"' || ch == '\\' || ch == '?')
                printf("\\%c", ch);
            else if (ch < 32 || ch > 126)
                printf("\\%03o", ch);
            else
                putchar(ch);
        }
        printf("\",\n");
        fclose(f);
    }
    printf("    0,\n};\n");
    return 0;
}
