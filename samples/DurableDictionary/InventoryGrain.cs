using System.Text.Json.Serialization;
using Orleans.Journaling;

namespace DurableDictionary;

public interface IInventoryGrain : IGrainWithStringKey
{
    /// <summary>Adds <paramref name="quantity"/> units of <paramref name="item"/>; returns once the Raft group committed it.</summary>
    Task<int> Receive(string item, int quantity);

    /// <summary>The stock, as this activation holds it (replayed from the journal when it activated).</summary>
    Task<Dictionary<string, int>> Stock();

    /// <summary>How many receipts the inventory recorded.</summary>
    Task<long> Receipts();
}

// The stock is an IDurableDictionary and the receipt count an IDurableValue: both live in the grain's journal, which
// Orleans journaling appends to on every WriteStateAsync and compacts now and then; the journal is kept in the Raft store.
public sealed class InventoryGrain(IDurableStateManager state) : Grain, IInventoryGrain
{
    private readonly IDurableDictionary<string, int> _stock = state.GetOrAddDictionary<string, int>("stock");
    private readonly IDurableValue<long> _receipts = state.GetOrAddValue<long>("receipts");

    public async Task<int> Receive(string item, int quantity)
    {
        _stock[item] = _stock.TryGetValue(item, out var current) ? current + quantity : quantity;
        _receipts.Value++;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Failed or unknown outcome: the state manager is fenced; the next call gets a fresh activation that
            // replays the journal as committed.
            DeactivateOnIdle();
            throw;
        }

        return _stock[item];
    }

    public Task<Dictionary<string, int>> Stock() => Task.FromResult(_stock.ToDictionary(p => p.Key, p => p.Value));

    public Task<long> Receipts() => Task.FromResult(_receipts.Value);
}

// The JSON journal format needs source-generated metadata for every journaled type, the state manager's own included.
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(uint))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(DateTime))]
public sealed partial class InventoryJsonContext : JsonSerializerContext;
