using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Google.Protobuf;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// An instance's metadata in its two forms: the protobuf encoding of a <c>google.protobuf.Struct</c>
/// (<see cref="InstanceSpec.MetadataBytes"/>, empty when there is none) and the JSON text Redis keeps,
/// as protobuf's JSON mapping writes a Struct (compact, entries in wire order, empty bytes as <c>{}</c>).
/// Both directions work on the bytes without building a Struct: they run for every registration and
/// for every instance a replica re-reads.
/// </summary>
/// <remarks>
/// <para>
/// For any Struct <c>s</c>, <c>FromJson(ToJson(s.ToByteString()))</c> is <c>s.ToByteString()</c> byte
/// for byte, except that NaN and ±Infinity, which JSON has no number for, come back as the strings
/// <c>"NaN"</c>, <c>"Infinity"</c> and <c>"-Infinity"</c> (protobuf's JSON mapping writes them so), and
/// a <c>null_value</c> other than 0 comes back as 0.
/// </para>
/// <para>
/// Bytes no encoder writes but a parser accepts are read as <c>Struct.Parser</c> reads them: unknown
/// fields are skipped, a Value's last kind wins and a repeated key is written again, which JSON parsers
/// (protobuf's, JavaScript's, Python's) read as <c>Struct.Parser</c> does: the last value, at the first
/// key's place. Strings that are not UTF-8 are written with U+FFFD, as <c>Struct.Parser</c> decodes them.
/// </para>
/// <para>
/// Nesting is limited as <c>CodedInputStream</c> limits it, to 100 messages (an entry, its Value and a
/// nested Struct or ListValue each count), so whatever one direction accepts the other and
/// <c>Struct.Parser</c> read back: about 33 nested objects, or 49 nested lists.
/// </para>
/// </remarks>
internal static class MetadataJson
{
    /// <summary>CodedInputStream's default recursion limit, which <c>Struct.Parser</c> applies.</summary>
    private const int MaxDepth = 100;

    /// <summary>2^53: every integer up to it is a double, exactly.</summary>
    private const double MaxExactInteger = 9007199254740992;

    // Tags (field number << 3 | wire type) of struct.proto. A known field number with another wire
    // type is an unknown field, as protobuf's generated parsers treat it.
    private const uint FieldsTag = 1 << 3 | 2;     // Struct.fields, repeated map entry
    private const uint KeyTag = 1 << 3 | 2;        // map entry key
    private const uint ValueTag = 2 << 3 | 2;      // map entry value
    private const uint NullTag = 1 << 3 | 0;       // Value.null_value, enum
    private const uint NumberTag = 2 << 3 | 1;     // Value.number_value, double
    private const uint StringTag = 3 << 3 | 2;     // Value.string_value
    private const uint BoolTag = 4 << 3 | 0;       // Value.bool_value
    private const uint StructTag = 5 << 3 | 2;     // Value.struct_value
    private const uint ListTag = 6 << 3 | 2;       // Value.list_value
    private const uint ListValuesTag = 1 << 3 | 2; // ListValue.values, repeated Value

    // Redis holds the text and nothing embeds it in HTML, so only what JSON itself requires is
    // escaped (and characters outside the BMP, which every built-in encoder escapes).
    // Validation is skipped: the calls below are balanced by construction.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <summary>
    /// A JSON writer and its buffer for each thread, reused: a new pair costs more than a small
    /// metadata's conversion (about 600 bytes, where the JSON itself is a few dozen).
    /// </summary>
    [ThreadStatic]
    private static JsonOutput? t_output;

    /// <summary>The JSON text (UTF-8) of a Struct's protobuf encoding; <c>{}</c> for empty bytes.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a Struct that <c>Struct.Parser</c> could read, or hold a Value with no kind.</exception>
    public static byte[] ToJson(ReadOnlySpan<byte> structBytes)
    {
        if (structBytes.IsEmpty)
        {
            return "{}"u8.ToArray();
        }
        // Taken, not borrowed, so the thread's writer is never used twice at once.
        var output = t_output ?? new JsonOutput();
        t_output = null;
        try
        {
            output.Writer.WriteStartObject();
            WriteFields(structBytes, output.Writer, depth: 0);
            output.Writer.WriteEndObject();
            output.Writer.Flush();
            return output.Buffer.WrittenSpan.ToArray();
        }
        finally
        {
            output.Writer.Reset();
            output.Buffer.ResetWrittenCount();
            // A buffer grown by an unusually large metadata is let go rather than held by the thread.
            t_output = output.Buffer.Capacity <= JsonOutput.KeptCapacity ? output : null;
        }
    }

    /// <summary>The protobuf encoding of the Struct a JSON object (UTF-8) describes; empty for <c>{}</c>, as <see cref="InstanceSpec.Encode"/> gives.</summary>
    /// <exception cref="InvalidDataException">The text is not one JSON object, holds a number beyond a double, or nests too deep.</exception>
    public static ByteString FromJson(ReadOnlySpan<byte> utf8Json)
    {
        // The reader's own depth limit (64) is never reached: Enter stops nesting by JSON depth 51.
        var reader = new Utf8JsonReader(utf8Json);
        var output = new WireWriter(Math.Max(256, utf8Json.Length));
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"Metadata JSON must be an object, not {reader.TokenType}.");
            }
            ReadFields(ref reader, ref output, depth: 0);
            // Anything but whitespace after the object throws (the reader takes a single value).
            _ = reader.Read();
            return output.Written.IsEmpty ? ByteString.Empty : ByteString.CopyFrom(output.Written);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Metadata JSON is malformed: {e.Message}", e);
        }
        finally
        {
            output.Dispose();
        }
    }

    /// <summary>Writes a Struct's entries (the braces are the caller's).</summary>
    private static void WriteFields(ReadOnlySpan<byte> fields, Utf8JsonWriter json, int depth)
    {
        var reader = new WireReader(fields);
        while (reader.TryReadTag(out var tag))
        {
            if (tag == FieldsTag)
            {
                WriteEntry(reader.ReadLengthDelimited(), json, Enter(depth));
            }
            else
            {
                reader.SkipField(tag, depth);
            }
        }
    }

    private static void WriteEntry(ReadOnlySpan<byte> entry, Utf8JsonWriter json, int depth)
    {
        // A missing key is "", a missing value is a Value with no kind; a repeated one replaces the
        // earlier, as Google.Protobuf's map entry parser does.
        ReadOnlySpan<byte> key = default, value = default;
        var reader = new WireReader(entry);
        while (reader.TryReadTag(out var tag))
        {
            switch (tag)
            {
                case KeyTag:
                    key = reader.ReadLengthDelimited();
                    break;
                case ValueTag:
                    value = reader.ReadLengthDelimited();
                    break;
                default:
                    reader.SkipField(tag, depth);
                    break;
            }
        }
        json.WritePropertyName(key);
        WriteValue(value, json, Enter(depth));
    }

    private static void WriteValue(ReadOnlySpan<byte> value, Utf8JsonWriter json, int depth)
    {
        // Encoders write one kind, but a parser keeps the last one on the wire and merges consecutive
        // copies of a message kind (encoding guide, "Last One Wins"): find it and where its run starts.
        uint kind = 0;
        int runAt = 0, payloadAt = 0;
        var scan = new WireReader(value);
        while (true)
        {
            var at = scan.Position;
            if (!scan.TryReadTag(out var tag))
            {
                break;
            }
            if (tag is NullTag or NumberTag or StringTag or BoolTag or StructTag or ListTag)
            {
                runAt = tag == kind ? runAt : at;
                (kind, payloadAt) = (tag, scan.Position);
            }
            scan.SkipField(tag, depth);
        }

        var field = new WireReader(value[payloadAt..]);
        switch (kind)
        {
            case NullTag:
                json.WriteNullValue();
                break;
            case NumberTag:
                WriteNumber(field.ReadDouble(), json);
                break;
            case StringTag:
                json.WriteStringValue(field.ReadLengthDelimited());
                break;
            case BoolTag:
                json.WriteBooleanValue(field.ReadVarint() != 0);
                break;
            case StructTag:
                json.WriteStartObject();
                WriteRun(value[runAt..], kind, json, depth);
                json.WriteEndObject();
                break;
            case ListTag:
                json.WriteStartArray();
                WriteRun(value[runAt..], kind, json, depth);
                json.WriteEndArray();
                break;
            default:
                // Google.Protobuf's JsonFormatter refuses it too; writing null would parse back as a different Struct.
                throw new InvalidDataException("Metadata holds a Value with no kind set, which has no JSON form.");
        }
    }

    /// <summary>Writes the contents of every <paramref name="kind"/> field in <paramref name="run"/> as one object or list (their merge).</summary>
    private static void WriteRun(ReadOnlySpan<byte> run, uint kind, Utf8JsonWriter json, int depth)
    {
        var reader = new WireReader(run);
        while (reader.TryReadTag(out var tag))
        {
            if (tag != kind)
            {
                reader.SkipField(tag, depth);
            }
            else if (kind == StructTag)
            {
                WriteFields(reader.ReadLengthDelimited(), json, Enter(depth));
            }
            else
            {
                WriteItems(reader.ReadLengthDelimited(), json, Enter(depth));
            }
        }
    }

    /// <summary>Writes a ListValue's values (the brackets are the caller's).</summary>
    private static void WriteItems(ReadOnlySpan<byte> list, Utf8JsonWriter json, int depth)
    {
        var reader = new WireReader(list);
        while (reader.TryReadTag(out var tag))
        {
            if (tag == ListValuesTag)
            {
                WriteValue(reader.ReadLengthDelimited(), json, Enter(depth));
            }
            else
            {
                reader.SkipField(tag, depth);
            }
        }
    }

    private static void WriteNumber(double number, Utf8JsonWriter json)
    {
        if (double.IsInteger(number) && Math.Abs(number) <= MaxExactInteger && (number != 0 || double.IsPositive(number)))
        {
            // Most metadata numbers: formatted as integers in a sixth of the time, and as protobuf's
            // formatter writes them (1000000000000000, not 1E+15). -0 goes below, keeping its sign.
            json.WriteNumberValue((long)number);
        }
        else if (double.IsFinite(number))
        {
            // Shortest round-trip form: 0.5, 1E+300.
            json.WriteNumberValue(number);
        }
        else
        {
            // JSON has no such numbers; protobuf's JSON mapping writes these strings.
            json.WriteStringValue(double.IsNaN(number) ? "NaN"u8 : number > 0 ? "Infinity"u8 : "-Infinity"u8);
        }
    }

    /// <summary>Reads an object's members up to its closing brace, writing each as a Struct entry.</summary>
    private static void ReadFields(ref Utf8JsonReader reader, ref WireWriter output, int depth)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var entryDepth = Enter(depth);
            var entry = output.BeginField(FieldsTag);
            // Google.Protobuf leaves out an empty key (the field's default), so the bytes match its own.
            if (!reader.ValueSpan.IsEmpty)
            {
                WriteString(ref reader, ref output, KeyTag);
            }
            var value = output.BeginField(ValueTag);
            reader.Read();
            ReadValue(ref reader, ref output, Enter(entryDepth));
            output.EndField(value);
            output.EndField(entry);
        }
    }

    /// <summary>Reads the value at the reader (to its end, for an object or array), writing a Value's one field.</summary>
    private static void ReadValue(ref Utf8JsonReader reader, ref WireWriter output, int depth)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                output.WriteTag(NullTag);
                output.WriteVarint(0);
                break;
            case JsonTokenType.True or JsonTokenType.False:
                output.WriteTag(BoolTag);
                output.WriteVarint(reader.TokenType == JsonTokenType.True ? 1u : 0u);
                break;
            case JsonTokenType.Number:
                output.WriteTag(NumberTag);
                output.WriteDouble(ReadNumber(ref reader));
                break;
            case JsonTokenType.String:
                WriteString(ref reader, ref output, StringTag);
                break;
            case JsonTokenType.StartObject:
                var fields = output.BeginField(StructTag);
                ReadFields(ref reader, ref output, Enter(depth));
                output.EndField(fields);
                break;
            default: // StartArray, the only token left where a value starts
                var list = output.BeginField(ListTag);
                ReadItems(ref reader, ref output, Enter(depth));
                output.EndField(list);
                break;
        }
    }

    private static double ReadNumber(ref Utf8JsonReader reader)
    {
        // An integer parses in half the time as a long, and exactly: the conversion rounds to the
        // nearest double as parsing the text would. "-0" is no long; it stays -0 as a double.
        if (reader.TryGetInt64(out var integer) && (integer != 0 || reader.ValueSpan[0] != (byte)'-'))
        {
            return integer;
        }
        // The reader gives Infinity for numbers past double's range; protobuf's JSON parser refuses them.
        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            throw new InvalidDataException($"Metadata JSON holds a number beyond the range of a double at byte {reader.TokenStartIndex}.");
        }
        return number;
    }

    /// <summary>Reads an array's items up to its closing bracket, writing each as a ListValue value.</summary>
    private static void ReadItems(ref Utf8JsonReader reader, ref WireWriter output, int depth)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var item = output.BeginField(ListValuesTag);
            ReadValue(ref reader, ref output, Enter(depth));
            output.EndField(item);
        }
    }

    /// <summary>Writes the string or property name at the reader as a protobuf string field: unescaped UTF-8 after its length.</summary>
    private static void WriteString(ref Utf8JsonReader reader, ref WireWriter output, uint tag)
    {
        // The reader checks escapes but not raw bytes; protobuf strings must be UTF-8.
        if (!reader.ValueIsEscaped)
        {
            var text = reader.ValueSpan;
            CheckUtf8(text, reader.TokenStartIndex);
            output.WriteTag(tag);
            output.WriteVarint((uint)text.Length);
            output.Write(text);
            return;
        }
        var field = output.BeginField(tag);
        // Unescaping never lengthens: the escaped text bounds the room needed.
        var room = output.Free(reader.ValueSpan.Length);
        int written;
        try
        {
            written = reader.CopyString(room);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"Metadata JSON holds a string that is not valid text at byte {reader.TokenStartIndex}: {e.Message}", e);
        }
        CheckUtf8(room[..written], reader.TokenStartIndex);
        output.Advance(written);
        output.EndField(field);
    }

    private static void CheckUtf8(ReadOnlySpan<byte> text, long at)
    {
        if (!Utf8.IsValid(text))
        {
            throw new InvalidDataException($"Metadata JSON holds a string that is not UTF-8 at byte {at}.");
        }
    }

    /// <summary>The depth of a message nested in one at <paramref name="depth"/>, checked as CodedInputStream checks it.</summary>
    private static int Enter(int depth) => depth < MaxDepth
        ? depth + 1
        : throw new InvalidDataException($"Metadata nests more than {MaxDepth} protobuf messages deep (about 33 objects or 49 lists), more than protobuf parsers accept.");

    private sealed class JsonOutput
    {
        /// <summary>Ample for the JSON of usual metadata (registrations allow 8 KiB encoded by default).</summary>
        public const int KeptCapacity = 16 * 1024;

        public JsonOutput() => Writer = new Utf8JsonWriter(Buffer, WriterOptions);

        public ArrayBufferWriter<byte> Buffer { get; } = new(256);

        public Utf8JsonWriter Writer { get; }
    }

    /// <summary>Reads protobuf's wire format from a span; every error is an <see cref="InvalidDataException"/>.</summary>
    private ref struct WireReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;

        public int Position { get; private set; }

        public bool TryReadTag(out uint tag)
        {
            if (Position == _bytes.Length)
            {
                tag = 0;
                return false;
            }
            // A tag is a varint32; like CodedInputStream, keep the low 32 bits of a longer one.
            tag = (uint)ReadVarint();
            if (tag >> 3 == 0)
            {
                throw Malformed("a field number of 0");
            }
            return true;
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                var b = Take(1)[0];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            throw Malformed("a varint longer than 10 bytes");
        }

        public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

        public ReadOnlySpan<byte> ReadLengthDelimited()
        {
            var length = ReadVarint();
            return length <= (ulong)(_bytes.Length - Position) ? Take((int)length) : throw Malformed("a length past the end of its message (truncated?)");
        }

        /// <summary>Skips an unknown field whose tag was just read, in a message at <paramref name="depth"/>.</summary>
        public void SkipField(uint tag, int depth)
        {
            switch (tag & 7)
            {
                case 0:
                    ReadVarint();
                    break;
                case 1:
                    Take(8);
                    break;
                case 2:
                    ReadLengthDelimited();
                    break;
                case 3:
                    SkipGroup(tag, Enter(depth));
                    break;
                case 4:
                    throw Malformed("an end-group tag with no start");
                case 5:
                    Take(4);
                    break;
                default:
                    throw Malformed($"wire type {tag & 7}, which does not exist");
            }
        }

        /// <summary>Skips a (deprecated) group field by field, up to the end tag matching <paramref name="startTag"/>.</summary>
        private void SkipGroup(uint startTag, int depth)
        {
            var endTag = startTag + 1;
            while (TryReadTag(out var tag))
            {
                if (tag == endTag)
                {
                    return;
                }
                SkipField(tag, depth);
            }
            throw Malformed("a group with no end tag (truncated?)");
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > _bytes.Length - Position)
            {
                throw Malformed("a field cut short (truncated?)");
            }
            var taken = _bytes.Slice(Position, count);
            Position += count;
            return taken;
        }

        private readonly InvalidDataException Malformed(string what) =>
            new($"Metadata is not a protobuf Struct: {what} at byte {Position} of a {_bytes.Length}-byte message.");
    }

    /// <summary>
    /// Writes protobuf's wire format into a pooled buffer. A nested message's length goes before its
    /// contents, so one byte is kept for it and the contents move up in the rare message of 128 bytes
    /// or more, rather than measuring every message before writing it.
    /// </summary>
    private ref struct WireWriter(int capacity)
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(capacity);
        private int _length;

        public readonly ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

        public void WriteTag(uint tag) => WriteVarint(tag);

        public void WriteVarint(uint value)
        {
            Ensure(5);
            _length += WriteVarint(_buffer.AsSpan(_length), value);
        }

        public void WriteDouble(double value)
        {
            Ensure(8);
            BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_length), value);
            _length += 8;
        }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            Ensure(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(_length));
            _length += bytes.Length;
        }

        /// <summary>Room for <paramref name="size"/> bytes at the end, to fill and then <see cref="Advance"/> past.</summary>
        public Span<byte> Free(int size)
        {
            Ensure(size);
            return _buffer.AsSpan(_length, size);
        }

        public void Advance(int count) => _length += count;

        /// <summary>Writes a length-delimited field's tag and keeps a byte for its length, which <see cref="EndField"/> writes.</summary>
        public int BeginField(uint tag)
        {
            WriteTag(tag);
            Ensure(1);
            return _length++;
        }

        public void EndField(int lengthAt)
        {
            var length = (uint)(_length - lengthAt - 1);
            var size = VarintSize(length);
            if (size > 1)
            {
                Ensure(size - 1);
                _buffer.AsSpan(lengthAt + 1, (int)length).CopyTo(_buffer.AsSpan(lengthAt + size));
                _length += size - 1;
            }
            WriteVarint(_buffer.AsSpan(lengthAt), length);
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);

        private static int WriteVarint(Span<byte> to, uint value)
        {
            var at = 0;
            for (; value >= 0x80; value >>= 7)
            {
                to[at++] = (byte)(value | 0x80);
            }
            to[at++] = (byte)value;
            return at;
        }

        private static int VarintSize(uint value) => (BitOperations.Log2(value | 1) / 7) + 1;

        private void Ensure(int count)
        {
            if (_buffer.Length - _length >= count)
            {
                return;
            }
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count));
            Written.CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }
}
