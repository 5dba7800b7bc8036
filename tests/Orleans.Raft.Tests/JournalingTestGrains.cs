using System.Text.Json.Serialization;
using Orleans.Journaling;

namespace Orleans.Raft.Tests;

public interface IJournaledInventoryGrain : IGrainWithStringKey
{
    // Sets one item and counts the change; returns the change count.
    Task<int> Set(string item, int quantity);

    Task Remove(string item);

    Task<Dictionary<string, int>> Items();

    Task<int> Changes();

    Task<string> SiloName();
}

// Orleans journaling: an IDurableDictionary and an IDurableValue sharing the grain's journal.
public sealed class JournaledInventoryGrain(IDurableStateManager state, ILocalSiloDetails silo) : Grain, IJournaledInventoryGrain
{
    private readonly IDurableDictionary<string, int> _items = state.GetOrAddDictionary<string, int>("items");
    private readonly IDurableValue<int> _changes = state.GetOrAddValue<int>("changes");

    public async Task<int> Set(string item, int quantity)
    {
        _items[item] = quantity;
        _changes.Value++;
        await state.WriteStateAsync();
        return _changes.Value;
    }

    public async Task Remove(string item)
    {
        _items.Remove(item);
        _changes.Value++;
        await state.WriteStateAsync();
    }

    public Task<Dictionary<string, int>> Items() => Task.FromResult(_items.ToDictionary(p => p.Key, p => p.Value));

    public Task<int> Changes() => Task.FromResult(_changes.Value);

    public Task<string> SiloName() => Task.FromResult(silo.Name);
}

// The JSON journal format refuses reflection: every journaled payload type, the manager's own included.
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(uint))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(DateTime))]
public sealed partial class JournalingTestJsonContext : JsonSerializerContext;
