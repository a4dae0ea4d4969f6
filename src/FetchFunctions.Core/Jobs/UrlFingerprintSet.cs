namespace FetchFunctions.Core.Jobs;

/// <summary>A set of 128-bit URL fingerprints (<see cref="CrawlJobValidator.Fingerprint"/>) for intake's de-duplication:
/// open addressing with linear probing in one array of 16-byte slots, at most three quarters full, so 10,000,000 URLs take
/// 256 MiB (384 MiB for the moment it grows from 8 to 16 million slots), where a <c>HashSet&lt;UInt128&gt;</c> keeps an
/// entry (hash code, link and value) and a bucket per item, and grows to the next prime over twice its size.
/// Fingerprints are SHA-256 prefixes, so their low bits index the table as they are.</summary>
internal sealed class UrlFingerprintSet
{
    private const int MinSlots = 16;

    private UInt128[] _slots;
    private bool _hasZero;

    /// <summary>A set sized for <paramref name="expected"/> fingerprints without growing.</summary>
    public UrlFingerprintSet(int expected = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expected);
        _slots = new UInt128[SlotsFor(expected)];
    }

    public int Count { get; private set; }

    /// <summary>Adds the fingerprint; false when it was there already.</summary>
    public bool Add(UInt128 fingerprint)
    {
        // Zero marks an empty slot, so the zero fingerprint is kept aside.
        if (fingerprint == UInt128.Zero)
        {
            if (_hasZero)
            {
                return false;
            }

            _hasZero = true;
            Count++;
            return true;
        }

        if ((long)(Count + 1) * 4 > (long)_slots.Length * 3)
        {
            Grow();
        }

        if (!Insert(_slots, fingerprint))
        {
            return false;
        }

        Count++;
        return true;
    }

    /// <summary>Empties the set, keeping its table: intake's second reading reuses the first's instead of holding two.</summary>
    public void Clear()
    {
        Array.Clear(_slots);
        _hasZero = false;
        Count = 0;
    }

    private static int SlotsFor(int count)
    {
        var slots = MinSlots;
        while ((long)count * 4 > (long)slots * 3)
        {
            slots *= 2;
        }

        return slots;
    }

    private static bool Insert(UInt128[] slots, UInt128 fingerprint)
    {
        var mask = slots.Length - 1;
        for (var slot = (int)(ulong)fingerprint & mask; ; slot = (slot + 1) & mask)
        {
            if (slots[slot] == UInt128.Zero)
            {
                slots[slot] = fingerprint;
                return true;
            }

            if (slots[slot] == fingerprint)
            {
                return false;
            }
        }
    }

    private void Grow()
    {
        var slots = new UInt128[_slots.Length * 2];
        foreach (var fingerprint in _slots)
        {
            if (fingerprint != UInt128.Zero)
            {
                Insert(slots, fingerprint);
            }
        }

        _slots = slots;
    }
}
