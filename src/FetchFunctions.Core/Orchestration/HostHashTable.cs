namespace FetchFunctions.Core.Orchestration;

/// <summary>Host ids by a 64-bit hash of the host name (open addressing, linear probing, at most ¾ full): 12 bytes a slot
/// instead of a string and a dictionary entry per host, so a big job's hosts are counted in one reading of its list
/// without keeping their names. Two hosts whose hashes are equal (about one chance in 3·10⁶ for a job of 10,000,000
/// distinct hosts) count as one: they are laid out together, in one batch or one lane, which per-host limits (applied
/// by host name when fetching) do not mind.</summary>
internal sealed class HostHashTable
{
    private ulong[] _keys;

    // Id + 1 of the host in each slot; 0 is an empty slot.
    private int[] _ids;

    public HostHashTable(int capacity = 1024)
    {
        var slots = (int)Math.Min(1 << 30, Math.Max(16, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(capacity + capacity / 3 + 1))));
        _keys = new ulong[slots];
        _ids = new int[slots];
    }

    public int Count { get; private set; }

    /// <summary>The id of the host of hash <paramref name="key"/>; a new host gets the next id (ids count from 0 in order
    /// of first appearance).</summary>
    public int GetOrAdd(ulong key, out bool added)
    {
        var mask = _keys.Length - 1;
        for (var slot = (int)key & mask; ; slot = (slot + 1) & mask)
        {
            if (_ids[slot] == 0)
            {
                if (4L * (Count + 1) > 3L * _keys.Length)
                {
                    Grow();
                    return GetOrAdd(key, out added);
                }

                _keys[slot] = key;
                _ids[slot] = ++Count;
                added = true;
                return Count - 1;
            }

            if (_keys[slot] == key)
            {
                added = false;
                return _ids[slot] - 1;
            }
        }
    }

    /// <summary>The id of the host of hash <paramref name="key"/>, or -1 for a host never added.</summary>
    public int IdOf(ulong key)
    {
        var mask = _keys.Length - 1;
        for (var slot = (int)key & mask; ; slot = (slot + 1) & mask)
        {
            if (_ids[slot] == 0)
            {
                return -1;
            }

            if (_keys[slot] == key)
            {
                return _ids[slot] - 1;
            }
        }
    }

    /// <summary>Gives every host id <c>id</c> the id <paramref name="newIds"/>[id].</summary>
    public void Renumber(int[] newIds)
    {
        ArgumentNullException.ThrowIfNull(newIds);
        for (var slot = 0; slot < _ids.Length; slot++)
        {
            if (_ids[slot] != 0)
            {
                _ids[slot] = newIds[_ids[slot] - 1] + 1;
            }
        }
    }

    private void Grow()
    {
        var (keys, ids) = (_keys, _ids);
        _keys = new ulong[2 * keys.Length];
        _ids = new int[2 * ids.Length];
        var mask = _keys.Length - 1;
        for (var old = 0; old < keys.Length; old++)
        {
            if (ids[old] == 0)
            {
                continue;
            }

            var slot = (int)keys[old] & mask;
            while (_ids[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            (_keys[slot], _ids[slot]) = (keys[old], ids[old]);
        }
    }
}
