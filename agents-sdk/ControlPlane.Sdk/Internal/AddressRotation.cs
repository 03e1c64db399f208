namespace ControlPlane.Sdk.Internal;

/// <summary>
/// The control-plane addresses and the one in use. A failure moves to the next address only if the
/// failed one is still current, so many calls failing together on one dead replica move once, not
/// once each (which could skip the live one). It starts at the first address, or at one drawn from
/// <c>startAtRandom</c> so that many processes given the same list spread over it, and rotates in
/// list order from there.
/// </summary>
internal sealed class AddressRotation
{
    private readonly Uri[] _addresses;
    private int _current;

    public AddressRotation(IEnumerable<Uri> addresses, Random? startAtRandom = null)
    {
        _addresses = [.. addresses];
        if (_addresses.Length == 0)
        {
            throw new ArgumentException("No control-plane address is configured (ControlPlaneClientOptions.Addresses).", nameof(addresses));
        }
        for (var i = 0; i < _addresses.Length; i++)
        {
            // Checked here, not at the first call: a path or user info would be dropped without a word.
            if (ControlPlaneAddress.Problem(_addresses[i]?.OriginalString) is { } problem)
            {
                throw new ArgumentException($"ControlPlaneClientOptions.Addresses[{i}] {problem}.", nameof(addresses));
            }
        }
        if (startAtRandom is not null)
        {
            _current = Math.Min((int)(startAtRandom.NextDouble() * _addresses.Length), _addresses.Length - 1);
        }
    }

    public IReadOnlyList<Uri> All => _addresses;

    public Uri Current => _addresses[Volatile.Read(ref _current) % _addresses.Length];

    /// <summary>Moves on from <paramref name="failed"/>; true when this call moved it.</summary>
    public bool Failed(Uri failed)
    {
        var index = Volatile.Read(ref _current);
        if (_addresses[index % _addresses.Length] != failed)
        {
            return false;
        }
        return Interlocked.CompareExchange(ref _current, (index + 1) % _addresses.Length, index) == index;
    }
}
