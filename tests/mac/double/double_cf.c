/* The CoreFoundation subset of the SecureTransport double (CFBase.h, CFData.h, CFString.h, CFArray.h,
 * CFDictionary.h, CFError.h), with Apple's signatures, plus counters the tests read:
 *
 *   long double_live_objects(void)    CF objects created and not yet released to zero
 *   long double_total_created(void)   CF objects created since load
 *   long double_overreleases(void)    CFRelease/CFRetain calls on an object already released to zero
 *   long double_live_of_type(CFTypeID) live objects of one type (the *GetTypeID values)
 *   void double_dump_live(void)       the live objects, one line each, on stderr (for a failing leak test)
 *
 * Ownership follows Apple's rule ([MACOS "Habits"]): Create/Copy return +1, Get is borrowed, CFArrayAppendValue
 * and CFArrayCreate/CFDictionaryCreate with the kCFType callbacks retain their values. CFRelease(NULL) aborts the
 * process as Apple's does (pip issue 5131): the test run dies loudly instead of passing.
 * An object released to zero is finalized but its header stays allocated, marked dead, so a later CFRelease
 * of it is counted as an over-release (and reported on stderr) rather than corrupting memory.
 */
#include "double.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t dbl_mutex = PTHREAD_MUTEX_INITIALIZER;
static long live_objects, total_created, overreleases;
static long live_by_type[T_COUNT];
static const char *type_names[T_COUNT] = {
    "?", "CFData", "CFString", "CFArray", "CFDictionary", "CFError", "CFBoolean", "SecCertificate",
    "SecIdentity", "SecKey", "SecPolicy", "SecTrust", "SecKeychain", "SSLContext",
};

/* Every live object, for double_dump_live (a small intrusive list would do; an array is simpler here). */
static dbl_obj **registry;
static size_t registry_len, registry_cap;

void dbl_lock(void) { pthread_mutex_lock(&dbl_mutex); }
void dbl_unlock(void) { pthread_mutex_unlock(&dbl_mutex); }

void dbl_fatal(const char *message, CFTypeRef ref)
{
    fprintf(stderr, "securetransport double: %s (%p): aborting, as Apple's CoreFoundation would\n", message, ref);
    fflush(stderr);
    abort();
}

void *dbl_alloc(enum dbl_type type, size_t size, void (*finalize)(dbl_obj *))
{
    dbl_obj *obj = calloc(1, size);
    if (obj == NULL)
        dbl_fatal("out of memory", NULL);
    obj->magic = DBL_LIVE;
    obj->type = type;
    obj->rc = 1;
    obj->finalize = finalize;
    dbl_lock();
    live_objects++;
    total_created++;
    live_by_type[type]++;
    if (registry_len == registry_cap) {
        registry_cap = registry_cap ? registry_cap * 2 : 256;
        registry = realloc(registry, registry_cap * sizeof(*registry));
    }
    registry[registry_len++] = obj;
    dbl_unlock();
    return obj;
}

static void unregister(dbl_obj *obj)
{
    size_t i;
    for (i = registry_len; i-- > 0;) {
        if (registry[i] == obj) {
            registry[i] = registry[--registry_len];
            return;
        }
    }
}

dbl_obj *dbl_check(CFTypeRef ref, enum dbl_type type)
{
    dbl_obj *obj = (dbl_obj *)ref;
    if (obj == NULL || obj->magic != DBL_LIVE || obj->type != (CFTypeID)type)
        return NULL;
    return obj;
}

static dbl_obj *any_object(CFTypeRef ref, const char *function)
{
    dbl_obj *obj = (dbl_obj *)ref;
    if (obj == NULL)
        dbl_fatal(function, ref);
    if (obj->magic == DBL_DEAD) {
        dbl_lock();
        overreleases++;
        dbl_unlock();
        fprintf(stderr, "securetransport double: %s on a released %s (%p): over-release counted\n", function,
                type_names[obj->type < T_COUNT ? obj->type : 0], ref);
        return NULL;
    }
    if (obj->magic != DBL_LIVE)
        dbl_fatal("not a CF object", ref);
    return obj;
}

/* CFBase.h: CFTypeRef CFRetain(CFTypeRef cf) - NULL aborts. */
CFTypeRef CFRetain(CFTypeRef cf)
{
    dbl_obj *obj;
    if (cf == NULL)
        dbl_fatal("CFRetain(NULL)", cf);
    obj = any_object(cf, "CFRetain");
    if (obj != NULL && !obj->is_static)
        __atomic_add_fetch(&obj->rc, 1, __ATOMIC_SEQ_CST);
    return cf;
}

/* CFBase.h: void CFRelease(CFTypeRef cf) - NULL aborts (pip issue 5131). */
void CFRelease(CFTypeRef cf)
{
    dbl_obj *obj;
    if (cf == NULL)
        dbl_fatal("CFRelease(NULL)", cf);
    obj = any_object(cf, "CFRelease");
    if (obj == NULL || obj->is_static)
        return;
    if (__atomic_sub_fetch(&obj->rc, 1, __ATOMIC_SEQ_CST) == 0) {
        if (obj->finalize)
            obj->finalize(obj);
        dbl_lock();
        obj->magic = DBL_DEAD;        /* the header is never freed: a later release is detected */
        live_objects--;
        live_by_type[obj->type]--;
        unregister(obj);
        dbl_unlock();
    }
}

CFIndex CFGetRetainCount(CFTypeRef cf)
{
    dbl_obj *obj;
    if (cf == NULL)
        dbl_fatal("CFGetRetainCount(NULL)", cf);
    obj = any_object(cf, "CFGetRetainCount");
    return obj ? (obj->is_static ? 0x7fffffff : obj->rc) : 0;
}

CFTypeID CFGetTypeID(CFTypeRef cf)
{
    dbl_obj *obj;
    if (cf == NULL)
        dbl_fatal("CFGetTypeID(NULL)", cf);
    obj = any_object(cf, "CFGetTypeID");
    return obj ? obj->type : 0;
}

long double_live_objects(void) { long n; dbl_lock(); n = live_objects; dbl_unlock(); return n; }
long double_total_created(void) { long n; dbl_lock(); n = total_created; dbl_unlock(); return n; }
long double_overreleases(void) { long n; dbl_lock(); n = overreleases; dbl_unlock(); return n; }

long double_live_of_type(CFTypeID type)
{
    long n;
    if (type >= T_COUNT)
        return 0;
    dbl_lock();
    n = live_by_type[type];
    dbl_unlock();
    return n;
}

void double_dump_live(void)
{
    size_t i;
    dbl_lock();
    for (i = 0; i < registry_len; i++)
        fprintf(stderr, "securetransport double: live %s %p rc=%ld\n", type_names[registry[i]->type],
                (void *)registry[i], registry[i]->rc);
    dbl_unlock();
}

/* --- CFData.h --- */
static void data_finalize(dbl_obj *self) { free(((dbl_data *)self)->bytes); }

CFTypeID CFDataGetTypeID(void) { return T_DATA; }

CFDataRef CFDataCreate(CFAllocatorRef allocator, const uint8_t *bytes, CFIndex length)
{
    dbl_data *data;
    (void)allocator;
    if (length < 0 || (length > 0 && bytes == NULL))
        return NULL;
    data = dbl_alloc(T_DATA, sizeof(*data), data_finalize);
    data->len = (size_t)length;
    data->bytes = malloc(data->len ? data->len : 1);
    if (length)
        memcpy(data->bytes, bytes, data->len);
    return data;
}

CFIndex CFDataGetLength(CFDataRef theData)
{
    dbl_data *data = (dbl_data *)dbl_check(theData, T_DATA);
    if (data == NULL)
        dbl_fatal("CFDataGetLength: not a CFData", theData);
    return (CFIndex)data->len;
}

const uint8_t *CFDataGetBytePtr(CFDataRef theData)
{
    dbl_data *data = (dbl_data *)dbl_check(theData, T_DATA);
    if (data == NULL)
        dbl_fatal("CFDataGetBytePtr: not a CFData", theData);
    return data->bytes;
}

/* --- CFString.h: UTF-8 storage; lengths in UTF-16 units as Apple's --- */
#define kCFStringEncodingASCII 0x0600u
#define kCFStringEncodingUTF8 0x08000100u

static void string_finalize(dbl_obj *self) { free(((dbl_string *)self)->utf8); }

CFTypeID CFStringGetTypeID(void) { return T_STRING; }

static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, extra, k;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80)
            extra = 0;
        else if ((c & 0xe0) == 0xc0)
            extra = 1;
        else if ((c & 0xf0) == 0xe0)
            extra = 2;
        else if ((c & 0xf8) == 0xf0)
            extra = 3;
        else
            return 0;
        if (n - i <= extra)
            return 0;
        for (k = 1; k <= extra; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += extra + 1;
    }
    return 1;
}

CFStringRef CFStringCreateWithBytes(CFAllocatorRef alloc, const uint8_t *bytes, CFIndex numBytes,
                                    CFStringEncoding encoding, Boolean isExternalRepresentation)
{
    dbl_string *str;
    CFIndex i;
    (void)alloc;
    (void)isExternalRepresentation;
    if (numBytes < 0 || (numBytes > 0 && bytes == NULL))
        return NULL;
    if (encoding == kCFStringEncodingASCII) {
        for (i = 0; i < numBytes; i++)
            if (bytes[i] & 0x80)
                return NULL;
    } else if (encoding != kCFStringEncodingUTF8 || !valid_utf8(bytes, (size_t)numBytes)) {
        return NULL;   /* Apple returns NULL for bytes invalid in the encoding */
    }
    str = dbl_alloc(T_STRING, sizeof(*str), string_finalize);
    str->len = (size_t)numBytes;
    str->utf8 = malloc(str->len + 1);
    if (numBytes)
        memcpy(str->utf8, bytes, str->len);
    str->utf8[str->len] = 0;
    return str;
}

CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char *cStr, CFStringEncoding encoding)
{
    if (cStr == NULL)
        dbl_fatal("CFStringCreateWithCString(NULL)", cStr);
    return CFStringCreateWithBytes(alloc, (const uint8_t *)cStr, (CFIndex)strlen(cStr), encoding, 0);
}

const char *dbl_string_utf8(CFTypeRef ref)
{
    dbl_string *str = (dbl_string *)dbl_check(ref, T_STRING);
    return str ? str->utf8 : NULL;
}

CFIndex CFStringGetLength(CFStringRef theString)
{
    dbl_string *str = (dbl_string *)dbl_check(theString, T_STRING);
    CFIndex units = 0;
    size_t i;
    if (str == NULL)
        dbl_fatal("CFStringGetLength: not a CFString", theString);
    for (i = 0; i < str->len; i++) {
        unsigned char c = (unsigned char)str->utf8[i];
        if ((c & 0xc0) != 0x80)
            units += (c & 0xf8) == 0xf0 ? 2 : 1;     /* a 4-byte sequence is a UTF-16 surrogate pair */
    }
    return units;
}

CFIndex CFStringGetMaximumSizeForEncoding(CFIndex length, CFStringEncoding encoding)
{
    return encoding == kCFStringEncodingUTF8 ? length * 3 : length;
}

/* Boolean CFStringGetCString(CFStringRef, char *buffer, CFIndex bufferSize, CFStringEncoding): false when the
 * buffer (which needs room for the terminating NUL) is too small or the text is not representable. */
Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize, CFStringEncoding encoding)
{
    dbl_string *str = (dbl_string *)dbl_check(theString, T_STRING);
    size_t i;
    if (str == NULL)
        dbl_fatal("CFStringGetCString: not a CFString", theString);
    if (encoding == kCFStringEncodingASCII) {
        for (i = 0; i < str->len; i++)
            if (str->utf8[i] & 0x80)
                return 0;
    } else if (encoding != kCFStringEncodingUTF8) {
        return 0;
    }
    if (buffer == NULL || bufferSize < 0 || (size_t)bufferSize < str->len + 1)
        return 0;
    memcpy(buffer, str->utf8, str->len + 1);
    return 1;
}

/* --- CFArray.h --- */
static const void *type_retain(CFAllocatorRef allocator, const void *value) { (void)allocator; return CFRetain(value); }
static void type_release(CFAllocatorRef allocator, const void *value) { (void)allocator; CFRelease(value); }
static unsigned long type_hash(const void *value) { return (unsigned long)(uintptr_t)value; }

const CFArrayCallBacks kCFTypeArrayCallBacks = {0, type_retain, type_release, NULL, CFEqual};
const CFArrayCallBacks kCFTypeDictionaryValueCallBacks = {0, type_retain, type_release, NULL, CFEqual};
const CFDictionaryKeyCallBacks kCFTypeDictionaryKeyCallBacks = {0, type_retain, type_release, NULL, CFEqual,
                                                                type_hash};

static void array_finalize(dbl_obj *self)
{
    dbl_array *array = (dbl_array *)self;
    CFIndex i;
    if (array->retains)
        for (i = 0; i < array->count; i++)
            CFRelease(array->values[i]);
    free(array->values);
}

CFTypeID CFArrayGetTypeID(void) { return T_ARRAY; }

/* The callbacks: &kCFTypeArrayCallBacks retains the values; NULL stores them unretained (CFArray.h). Any other
 * structure is honoured only by its retain member being non-NULL (the backend uses the kCFType ones). */
static int callbacks_retain(const void *callBacks)
{
    return callBacks != NULL && ((const CFArrayCallBacks *)callBacks)->retain != NULL;
}

CFMutableArrayRef CFArrayCreateMutable(CFAllocatorRef allocator, CFIndex capacity, const void *callBacks)
{
    dbl_array *array;
    (void)allocator;
    if (capacity < 0)
        return NULL;
    array = dbl_alloc(T_ARRAY, sizeof(*array), array_finalize);
    array->retains = callbacks_retain(callBacks);
    return array;
}

void CFArrayAppendValue(CFMutableArrayRef theArray, const void *value)
{
    dbl_array *array = (dbl_array *)dbl_check(theArray, T_ARRAY);
    if (array == NULL)
        dbl_fatal("CFArrayAppendValue: not a CFArray", theArray);
    if (array->count == array->cap) {
        array->cap = array->cap ? array->cap * 2 : 4;
        array->values = realloc(array->values, (size_t)array->cap * sizeof(*array->values));
    }
    if (array->retains)
        CFRetain(value);   /* the array retains the value [MACOS "Habits"] */
    array->values[array->count++] = value;
}

CFArrayRef CFArrayCreate(CFAllocatorRef allocator, const void **values, CFIndex numValues, const void *callBacks)
{
    CFMutableArrayRef array;
    CFIndex i;
    if (numValues < 0 || (numValues > 0 && values == NULL))
        return NULL;
    array = CFArrayCreateMutable(allocator, numValues, callBacks);
    for (i = 0; i < numValues; i++)
        CFArrayAppendValue(array, values[i]);
    return array;
}

CFIndex CFArrayGetCount(CFArrayRef theArray)
{
    dbl_array *array = (dbl_array *)dbl_check(theArray, T_ARRAY);
    if (array == NULL)
        dbl_fatal("CFArrayGetCount: not a CFArray", theArray);
    return array->count;
}

const void *CFArrayGetValueAtIndex(CFArrayRef theArray, CFIndex idx)
{
    dbl_array *array = (dbl_array *)dbl_check(theArray, T_ARRAY);
    if (array == NULL)
        dbl_fatal("CFArrayGetValueAtIndex: not a CFArray", theArray);
    if (idx < 0 || idx >= array->count)
        dbl_fatal("CFArrayGetValueAtIndex: index out of bounds", theArray);
    return array->values[idx];
}

/* --- CFDictionary.h: a small association list --- */
typedef struct { dbl_obj h; CFIndex count; const void **keys, **values; int retain_keys, retain_values; } dbl_dict;

static void dict_finalize(dbl_obj *self)
{
    dbl_dict *dict = (dbl_dict *)self;
    CFIndex i;
    for (i = 0; i < dict->count; i++) {
        if (dict->retain_keys)
            CFRelease(dict->keys[i]);
        if (dict->retain_values)
            CFRelease(dict->values[i]);
    }
    free(dict->keys);
    free(dict->values);
}

CFTypeID CFDictionaryGetTypeID(void) { return T_DICTIONARY; }

CFDictionaryRef CFDictionaryCreate(CFAllocatorRef allocator, const void **keys, const void **values,
                                   CFIndex numValues, const void *keyCallBacks, const void *valueCallBacks)
{
    dbl_dict *dict;
    CFIndex i;
    (void)allocator;
    if (numValues < 0 || (numValues > 0 && (keys == NULL || values == NULL)))
        return NULL;
    dict = dbl_alloc(T_DICTIONARY, sizeof(*dict), dict_finalize);
    dict->retain_keys = callbacks_retain(keyCallBacks);
    dict->retain_values = callbacks_retain(valueCallBacks);
    dict->keys = calloc((size_t)numValues + 1, sizeof(void *));
    dict->values = calloc((size_t)numValues + 1, sizeof(void *));
    for (i = 0; i < numValues; i++) {
        dict->keys[i] = dict->retain_keys ? CFRetain(keys[i]) : keys[i];
        dict->values[i] = dict->retain_values ? CFRetain(values[i]) : values[i];
    }
    dict->count = numValues;
    return dict;
}

const void *CFDictionaryGetValue(CFDictionaryRef theDict, const void *key)
{
    dbl_dict *dict = (dbl_dict *)dbl_check(theDict, T_DICTIONARY);
    CFIndex i;
    if (dict == NULL)
        dbl_fatal("CFDictionaryGetValue: not a CFDictionary", theDict);
    for (i = 0; i < dict->count; i++)
        if (dict->keys[i] == key || CFEqual(dict->keys[i], key))
            return dict->values[i];
    return NULL;
}

CFIndex CFDictionaryGetCount(CFDictionaryRef theDict)
{
    dbl_dict *dict = (dbl_dict *)dbl_check(theDict, T_DICTIONARY);
    if (dict == NULL)
        dbl_fatal("CFDictionaryGetCount: not a CFDictionary", theDict);
    return dict->count;
}

/* CFEqual: identity, or equal contents for CFString and CFData (and certificates, compared by DER). */
Boolean CFEqual(CFTypeRef cf1, CFTypeRef cf2)
{
    dbl_obj *a = (dbl_obj *)cf1, *b = (dbl_obj *)cf2;
    if (cf1 == NULL || cf2 == NULL)
        dbl_fatal("CFEqual(NULL)", NULL);
    if (a == b)
        return 1;
    if (a->magic != DBL_LIVE || b->magic != DBL_LIVE || a->type != b->type)
        return 0;
    if (a->type == T_STRING)
        return strcmp(((dbl_string *)a)->utf8, ((dbl_string *)b)->utf8) == 0;
    if (a->type == T_DATA)
        return ((dbl_data *)a)->len == ((dbl_data *)b)->len &&
               memcmp(((dbl_data *)a)->bytes, ((dbl_data *)b)->bytes, ((dbl_data *)a)->len) == 0;
    if (a->type == T_CERTIFICATE)
        return X509_cmp(((dbl_cert *)a)->x509, ((dbl_cert *)b)->x509) == 0;
    return 0;
}

/* --- CFBoolean (CFNumber.h): two static constants --- */
static dbl_obj true_object = {DBL_LIVE, 1, T_BOOLEAN, 1, NULL};
static dbl_obj false_object = {DBL_LIVE, 1, T_BOOLEAN, 1, NULL};
const CFBooleanRef kCFBooleanTrue = &true_object;
const CFBooleanRef kCFBooleanFalse = &false_object;
const CFAllocatorRef kCFAllocatorDefault = NULL;   /* CFBase.h: NULL is the default allocator */

/* --- CFError.h --- */
static void error_finalize(dbl_obj *self)
{
    free(((dbl_error *)self)->domain);
    free(((dbl_error *)self)->description);
}

CFTypeID CFErrorGetTypeID(void) { return T_ERROR; }

/* An error of NSOSStatusErrorDomain with an OSStatus code, as SecTrustEvaluateWithError returns (+1). */
CFErrorRef dbl_error_create(CFIndex code, const char *description)
{
    dbl_error *error = dbl_alloc(T_ERROR, sizeof(*error), error_finalize);
    error->code = code;
    error->domain = strdup("NSOSStatusErrorDomain");
    error->description = strdup(description ? description : "");
    return error;
}

CFIndex CFErrorGetCode(CFErrorRef err)
{
    dbl_error *error = (dbl_error *)dbl_check(err, T_ERROR);
    if (error == NULL)
        dbl_fatal("CFErrorGetCode: not a CFError", err);
    return error->code;
}

CFStringRef CFErrorCopyDescription(CFErrorRef err)
{
    dbl_error *error = (dbl_error *)dbl_check(err, T_ERROR);
    if (error == NULL)
        dbl_fatal("CFErrorCopyDescription: not a CFError", err);
    return CFStringCreateWithCString(NULL, error->description, kCFStringEncodingUTF8);
}
