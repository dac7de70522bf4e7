import type { Db as Tx } from '@regimen/db/queries/db';
import { hashPassword } from 'better-auth/crypto';
import { z } from 'zod';
import { env } from '../../env.ts';
import type { Db } from '../db.ts';
import { ROLES, type Role } from './roles.ts';

export const NewUserInput = z.object({
  email: z.email('a valid email address is required').trim().toLowerCase(),
  name: z.string().trim().min(1, 'name is required').max(100),
  password: z.string().min(8, 'the password must have at least 8 characters').max(200),
  role: z.enum(ROLES),
});
export type NewUserInput = z.infer<typeof NewUserInput>;

export class UserExistsError extends Error {
  constructor(email: string) {
    super(`a user with email ${email} already exists`);
    this.name = 'UserExistsError';
  }
}

/**
 * Creates a user with an email+password credential the way better-auth stores it (providerId "credential",
 * scrypt hash from better-auth's own hasher), so better-auth can sign them in.
 */
export async function createUser(db: Db, input: NewUserInput) {
  const data = NewUserInput.parse(input);
  const existing = await db.user.findUnique({ where: { email: data.email }, select: { id: true } });
  if (existing) throw new UserExistsError(data.email);
  const hash = await hashPassword(data.password);
  return db.$transaction((tx) => insertCredentialUser(tx, data, hash));
}

/** The user row and its better-auth credential account, in the caller's transaction. */
async function insertCredentialUser(tx: Tx, data: NewUserInput, passwordHash: string) {
  const user = await tx.user.create({
    data: { email: data.email, name: data.name, role: data.role, emailVerified: true },
    select: { id: true, email: true, name: true, role: true, createdAt: true },
  });
  await tx.account.create({
    data: {
      id: crypto.randomUUID(),
      accountId: user.id,
      providerId: 'credential',
      userId: user.id,
      password: passwordHash,
    },
  });
  return user;
}

export async function setPassword(db: Db, userId: string, password: string) {
  const parsed = NewUserInput.shape.password.parse(password);
  const hash = await hashPassword(parsed);
  const updated = await db.account.updateMany({
    where: { userId, providerId: 'credential' },
    data: { password: hash },
  });
  if (updated.count === 0) {
    await db.account.create({
      data: { id: crypto.randomUUID(), accountId: userId, providerId: 'credential', userId, password: hash },
    });
  }
}

export async function hasAnyUser(db: Db): Promise<boolean> {
  return (await db.user.count()) > 0;
}

/**
 * First-admin bootstrap from REGIMEN_ADMIN_EMAIL / REGIMEN_ADMIN_PASSWORD: creates that admin if no user has
 * the email yet. Idempotent; runs whenever the sign-in page renders.
 */
export async function ensureEnvAdmin(db: Db): Promise<void> {
  const { REGIMEN_ADMIN_EMAIL: email, REGIMEN_ADMIN_PASSWORD: password } = env();
  if (!email || !password) return;
  const existing = await db.user.findUnique({ where: { email: email.toLowerCase() }, select: { id: true } });
  if (existing) return;
  try {
    await createUser(db, { email, password, name: 'Admin', role: 'admin' });
  } catch (error) {
    // Two requests racing to bootstrap: the loser finds the admin already there.
    if (
      !(error instanceof UserExistsError) &&
      !(await db.user.findUnique({ where: { email: email.toLowerCase() } }))
    ) {
      throw error;
    }
  }
}

/**
 * With no users at all, whoever opens the dashboard first creates the first admin. A Postgres advisory lock
 * makes sure two simultaneous visitors cannot both become admin.
 */
export async function createFirstAdmin(db: Db, input: Omit<NewUserInput, 'role'>) {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(7201)`;
    if ((await tx.user.count()) > 0) throw new Error('an account already exists: sign in instead');
    const data = NewUserInput.parse({ ...input, role: 'admin' satisfies Role });
    return insertCredentialUser(tx, data, await hashPassword(data.password));
  });
}
