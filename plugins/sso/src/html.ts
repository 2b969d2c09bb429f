// The minimal login page (zh-CN first, then English). Item 6 (member chooser, lockout, CSRF token,
// styling) replaces it; this one is keyboard-usable plain HTML with labelled fields.
import type { IncomingMessage } from 'node:http';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function loginPage(options: { action: string; hidden?: Record<string, string>; error?: string; title?: string }): string {
  const hidden = Object.entries(options.hidden ?? {})
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('\n      ');
  const error = options.error ? `<p role="alert" class="error">${escapeHtml(options.error)}</p>` : '';
  return `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>统一身份认证 / Sign in</title></head>
<body>
  <main>
    <h1>统一身份认证 <span lang="en">/ Sign in</span></h1>
    ${options.title ? `<p>${escapeHtml(options.title)}</p>` : ''}
    ${error}
    <form method="post" action="${escapeHtml(options.action)}">
      ${hidden}
      <p><label for="username">用户名 / Username</label><br><input id="username" name="username" autocomplete="username" required autofocus></p>
      <p><label for="password">密码 / Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
      <p><button type="submit">登录 / Sign in</button></p>
    </form>
  </main>
</body>
</html>`;
}

/** Reads an urlencoded form body from the raw request (the public scope leaves bodies unparsed). */
export async function readForm(req: IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};
