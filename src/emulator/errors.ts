/** Realistic `msg` for each Coze error code the emulator produces. */
export const COZE_MESSAGES: Record<number, string> = {
  4000: 'Request parameter error',
  4013: 'Your request rate is too high. Please reduce the request frequency and try again later.',
  4015: 'The Bot is not currently published to the corresponding platform',
  4016: 'The conversation is occupied by another chat in progress. Please try again later.',
  4019: 'Your account balance is insufficient. Please top up and try again.',
  4100: 'authentication is invalid',
  4101: 'The token you entered is incorrect. Please double-check and try again.',
  4104: 'The chat cannot be canceled because it is not in progress.',
  4200: 'The requested resource does not exist.',
  5000: "We're currently experiencing server issues. Please try again later.",
  6003: 'Workflow execution with is_async=true is a premium feature available only to Coze Professional users'
}

export function cozeMessage (code: number): string {
  return COZE_MESSAGES[code] ?? `error ${code}`
}

/** Thrown inside handlers; the server turns it into an HTTP 200 `{code,msg,detail}` envelope. */
export class CozeFault extends Error {
  readonly code: number
  readonly msg: string
  constructor (code: number, msg?: string) {
    const m = msg ?? cozeMessage(code)
    super(m)
    this.code = code
    this.msg = m
  }
}

export function badRequest (msg: string): CozeFault {
  return new CozeFault(4000, msg)
}

export function notFound (msg: string): CozeFault {
  return new CozeFault(4200, msg)
}
