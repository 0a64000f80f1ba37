/* The handlers, one per operation (handlers_account.c,
 * handlers_devices.c); the route table (routes.c) names them. */
#ifndef MOCK_HANDLERS_H
#define MOCK_HANDLERS_H

#include "handler.h"

void on_versions(struct mock_ctx *ctx);
void on_login_flows(struct mock_ctx *ctx);
void on_login(struct mock_ctx *ctx);
void on_register(struct mock_ctx *ctx);
void on_logout(struct mock_ctx *ctx);
void on_logout_all(struct mock_ctx *ctx);
void on_whoami(struct mock_ctx *ctx);
void on_admin_register_nonce(struct mock_ctx *ctx);
void on_admin_register(struct mock_ctx *ctx);
void on_get_devices(struct mock_ctx *ctx);
void on_get_device(struct mock_ctx *ctx);
void on_update_device(struct mock_ctx *ctx);
void on_delete_device(struct mock_ctx *ctx);
void on_delete_devices(struct mock_ctx *ctx);

#endif
