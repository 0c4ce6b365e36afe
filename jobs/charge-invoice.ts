import { Job } from '../lib/index.ts';

/**
 * Charges an invoice. Charges of one account must happen in order, so the account is the key:
 * they share a Kafka partition and a lane. Amounts travel as BigInt cents, exactly.
 */
export class ChargeInvoice extends Job<[accountId: string, invoiceId: number, amountCents: bigint]> {
  static override options = {
    topic: 'demo.billing',
    dispatchMethod: 'produceSync' as const,
    partitioner: (job: Job<any[]>) => String(job.arguments[0]),
  };

  async perform(accountId: string, invoiceId: number, amountCents: bigint): Promise<void> {
    const ledger = ledgers.get(accountId) ?? [];
    const previous = ledger[ledger.length - 1];
    if (previous !== undefined && previous > invoiceId) {
      throw new Error(`invoice ${invoiceId} of ${accountId} charged after ${previous}: order broken`);
    }
    ledger.push(invoiceId);
    ledgers.set(accountId, ledger);
    totals.set(accountId, (totals.get(accountId) ?? 0n) + amountCents);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const ledgers = new Map<string, number[]>();
export const totals = new Map<string, bigint>();
