/* log.h — leveled messages to stderr. The CLI sets the level (--quiet → SCARP_LOG_ERROR). */
#ifndef SCARP_LOG_H
#define SCARP_LOG_H

typedef enum { SCARP_LOG_DEBUG = 0, SCARP_LOG_INFO, SCARP_LOG_WARN, SCARP_LOG_ERROR, SCARP_LOG_SILENT } scarp_log_level;

void scarp_log_set_level(scarp_log_level level);
scarp_log_level scarp_log_get_level(void);
void scarp_log(scarp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define scarp_debug(...) scarp_log(SCARP_LOG_DEBUG, __VA_ARGS__)
#define scarp_info(...) scarp_log(SCARP_LOG_INFO, __VA_ARGS__)
#define scarp_warn(...) scarp_log(SCARP_LOG_WARN, __VA_ARGS__)

#endif
