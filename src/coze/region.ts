// Coze runs two separate clouds: coze.cn (api.coze.cn) and coze.com (api.coze.com). A token
// or an OAuth app of one is rejected by the other with 4100/4101, which is the most common
// misconfiguration: the message of such an error says which region each side is in.

export type Region = 'cn' | 'com'

export const API_BASES: Record<Region, string> = { cn: 'https://api.coze.cn', com: 'https://api.coze.com' }

export function regionOf (url: string | undefined): Region | undefined {
  if (!url) return undefined
  let host: string
  try { host = new URL(url).hostname } catch { return undefined }
  if (host === 'coze.cn' || host.endsWith('.coze.cn')) return 'cn'
  if (host === 'coze.com' || host.endsWith('.coze.com')) return 'com'
  return undefined
}

/** What a credential says about where it was made: an OAuth app's coze_api_base (console file); PATs say nothing. */
export interface CredentialOrigin { kind: 'pat' | 'oauth', source: string, apiBase?: string | undefined }

/** The fix for a rejected credential, with the region of COZE_API_BASE against that of the credential. */
export function regionHint (apiBase: string, origin: CredentialOrigin): string {
  const base = regionOf(apiBase)
  const made = regionOf(origin.apiBase)
  if (made && base && made !== base) {
    return `The OAuth app comes from coze.${made} (coze_api_base ${origin.apiBase} in its config file) but COZE_API_BASE is ${apiBase} (coze.${base}): set COZE_API_BASE=${API_BASES[made]}.`
  }
  if (origin.kind === 'oauth') {
    return 'Check the app\'s public key id (kid), private key and permissions in the Coze console, ' +
      `and that COZE_API_BASE (${apiBase}) is the region the app was made in (${API_BASES.cn} for coze.cn, ${API_BASES.com} for coze.com).`
  }
  const check = `Check ${origin.source}, that it has not expired and has the needed scopes`
  if (base) {
    const other: Region = base === 'cn' ? 'com' : 'cn'
    return `${check}. COZE_API_BASE is ${apiBase} (coze.${base}): a token made on coze.${other} is rejected there, so for such a token set COZE_API_BASE=${API_BASES[other]}.`
  }
  return `${check}, and that COZE_API_BASE matches the account region (${API_BASES.cn} for coze.cn, ${API_BASES.com} for coze.com).`
}
