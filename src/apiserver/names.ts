// The API server's name generator (apiserver/pkg/storage/names): the random
// suffix of a generateName, five characters without vowels.
import { randomBytes } from 'node:crypto';

export function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(5), (b) => alphabet[b % alphabet.length]).join('');
}
