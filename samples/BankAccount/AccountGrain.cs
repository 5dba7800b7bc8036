using Orleans.EventSourcing;
using Orleans.Providers;

namespace BankAccount;

/// <summary>Money paid in; <see cref="OperationId"/> names the client's operation, so histories can be checked.</summary>
[GenerateSerializer]
public sealed class Deposited
{
    [Id(0)]
    public long OperationId { get; set; }

    [Id(1)]
    public long Amount { get; set; }
}

/// <summary>Money taken out (never more than the balance).</summary>
[GenerateSerializer]
public sealed class Withdrawn
{
    [Id(0)]
    public long OperationId { get; set; }

    [Id(1)]
    public long Amount { get; set; }
}

/// <summary>The account as the fold of its events.</summary>
[GenerateSerializer]
public sealed class AccountState
{
    [Id(0)]
    public long Balance { get; set; }

    // Found by JournaledGrain through dynamic dispatch, so they must be public.
    public void Apply(Deposited e) => Balance += e.Amount;

    public void Apply(Withdrawn e) => Balance -= e.Amount;
}

/// <summary>One event of an account's history, as the client sees it (positive: deposit, negative: withdrawal).</summary>
[GenerateSerializer]
public sealed record HistoryEntry([property: Id(0)] long OperationId, [property: Id(1)] long Amount);

public interface IAccountGrain : IGrainWithStringKey
{
    Task Deposit(long operationId, long amount);

    /// <summary>Takes the money out, or answers false (and records nothing) when the balance is too low.</summary>
    Task<bool> Withdraw(long operationId, long amount);

    Task<long> Balance();

    Task<HistoryEntry[]> History();
}

/// <summary>An event-sourced bank account whose events are replicated by Raft (provider "raft-es").</summary>
[LogConsistencyProvider(ProviderName = "raft-es")]
public sealed class AccountGrain : JournaledGrain<AccountState, object>, IAccountGrain
{
    public async Task Deposit(long operationId, long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        RaiseEvent(new Deposited { OperationId = operationId, Amount = amount });
        await ConfirmEvents();
    }

    public async Task<bool> Withdraw(long operationId, long amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        // Conditional on the version the balance was checked at: if another activation (during a failover) moved the
        // account meanwhile, the event is refused, the state catches up and the check runs again.
        while (true)
        {
            if (State.Balance < amount)
            {
                return false;
            }

            if (await RaiseConditionalEvent(new Withdrawn { OperationId = operationId, Amount = amount }))
            {
                return true;
            }
        }
    }

    public Task<long> Balance() => Task.FromResult(State.Balance);

    public async Task<HistoryEntry[]> History() =>
        [.. (await RetrieveConfirmedEvents(0, Version)).Select(e => e switch
        {
            Deposited d => new HistoryEntry(d.OperationId, d.Amount),
            Withdrawn w => new HistoryEntry(w.OperationId, -w.Amount),
            _ => throw new InvalidDataException($"Unknown event {e.GetType()}"),
        })];
}
