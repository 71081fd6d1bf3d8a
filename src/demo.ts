/** The emulator's default bot: the bot id the product docs' examples use, so they run as written in demo mode. */
export const DEMO_BOT_ID = '7537334510896185359'
