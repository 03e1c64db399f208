namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The field violations of one REST request, at most <see cref="RpcErrors.MaxFieldViolations"/>.
/// Finding one more sets <see cref="CheckingStopped"/>: the request is refused anyway, so whoever
/// walks the request stops there. Otherwise a 1 MB body of unknown keys costs a violation per key
/// (90,000 of them) and an error many times the size of the request.
/// </summary>
internal sealed class RequestViolations
{
    private readonly List<FieldViolation> _list = [];

    /// <summary>More violations were found than are kept: stop looking for others.</summary>
    public bool CheckingStopped { get; private set; }

    public int Count => _list.Count;

    public void Add(string field, string description)
    {
        if (_list.Count < RpcErrors.MaxFieldViolations)
        {
            _list.Add(new FieldViolation(field, description));
        }
        else
        {
            CheckingStopped = true;
        }
    }

    public void ThrowIfAny()
    {
        if (_list.Count > 0)
        {
            throw RpcErrors.InvalidArgument(TranscodingErrors.InvalidRequestReason, _list, CheckingStopped);
        }
    }
}
